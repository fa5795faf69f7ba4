-- Drives the mochi plugin in a headless Neovim against a real `mochi serve`, through
-- Neovim's own LSP client. Started by tests/editors/test_neovim.py, which passes:
--   MOCHI_CMD (the mochi executable), MOCHI_DATA_DIR, MOCHI_FILE (a Python file of the
--   fixture repository) and MOCHI_RESULT (where the JSON results go).
-- Exits with :qa! when every check passed, :cquit otherwise.
local env = vim.env
local results = { checks = {}, notifications = {}, progress = {} }
local TIMEOUT = 180000

vim.notify = function(msg, level) -- record what the plugin tells the user
  table.insert(results.notifications, { msg = tostring(msg), level = level })
end
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(ev)
    table.insert(results.progress, ev.data.params.value)
  end,
})

local function wait(what, cond, ms)
  if not vim.wait(ms or TIMEOUT, cond, 50) then
    error('timed out waiting for ' .. what)
  end
end

local function check(name, ok, detail)
  results.checks[name] = { ok = not not ok, detail = detail }
end

local function main()
  vim.cmd('filetype on') -- `-u NONE` leaves filetype detection off
  require('mochi').setup({
    cmd = env.MOCHI_CMD,
    init_options = { dataDir = env.MOCHI_DATA_DIR },
    settings = { completion = { enabled = true } },
  })
  vim.cmd.edit(vim.fn.fnameescape(env.MOCHI_FILE))
  local buf = vim.api.nvim_get_current_buf()
  local client ---@type vim.lsp.Client
  wait('the client to attach', function()
    client = vim.lsp.get_clients({ name = 'mochi', bufnr = buf })[1]
    return client ~= nil
  end, 60000)
  check('attached', client.initialized, { root_dir = client.root_dir })
  wait('indexing to end', function()
    return vim.iter(results.progress):any(function(v)
      return v.kind == 'end'
    end)
  end)

  local function request(method, params)
    local response, err = client:request_sync(method, params, TIMEOUT, buf)
    if not response then
      error(method .. ': ' .. tostring(err))
    end
    if response.err then
      error(method .. ': ' .. vim.inspect(response.err))
    end
    return response.result
  end
  local document = { uri = vim.uri_from_bufnr(buf) }

  -- completion and inline completion after `return `
  vim.api.nvim_buf_set_lines(buf, -1, -1, false, { '', '', 'def multiply(a, b):', '    return ' })
  local at = { line = vim.api.nvim_buf_line_count(buf) - 1, character = #'    return ' }
  local listed = request('textDocument/completion', { textDocument = document, position = at })
  local items = listed and (listed.items or listed) or {}
  local first = items[1] or {}
  local completion = first.textEdit and first.textEdit.newText or first.insertText or first.label
  check('completion', #items > 0 and completion and completion ~= '', { text = completion })

  local inline = request('textDocument/inlineCompletion', {
    textDocument = document,
    position = at,
    context = { triggerKind = 1 },
  })
  local suggestion = inline and inline.items and inline.items[1]
  suggestion = suggestion and suggestion.insertText
  if type(suggestion) == 'table' then
    suggestion = suggestion.value
  end
  check('inline_completion', suggestion and suggestion ~= '', { text = suggestion })

  check('inline_enabled', vim.lsp.inline_completion.is_enabled({ bufnr = buf }))

  -- hover on `build_shape`
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local line = vim.fn.index(lines, '    shape = registry.build_shape("circle", 2)')
  local hover = request('textDocument/hover', {
    textDocument = document,
    position = { line = line, character = 25 },
  })
  local contents = hover and hover.contents and (hover.contents.value or hover.contents) or ''
  check('hover', type(contents) == 'string' and contents:find('geometry/registry.py', 1, true), {
    text = contents,
  })

  -- code actions on `def add`
  local actions = request('textDocument/codeAction', {
    textDocument = document,
    range = { start = { line = 3, character = 4 }, ['end'] = { line = 3, character = 4 } },
    context = { diagnostics = {} },
  }) or {}
  local titles = vim.tbl_map(function(a)
    return a.title
  end, actions)
  check('code_actions', vim.iter(titles):any(function(t)
    return vim.startswith(t, 'mochi: Explain')
  end), { titles = titles })

  -- commands: mochi.search directly, then through :MochiSearch and :MochiStatus
  local query = 'register a factory for a shape'
  local locations = request('workspace/executeCommand', {
    command = 'mochi.search',
    arguments = { query },
  }) or {}
  check('search', #locations > 0 and locations[1].uri:find('geometry/registry.py', 1, true), {
    uris = vim.tbl_map(function(l)
      return l.uri
    end, locations),
  })

  vim.cmd('MochiSearch ' .. query)
  wait(':MochiSearch to fill the quickfix list', function()
    return #vim.fn.getqflist() > 0
  end, 60000)
  local qf = vim.fn.getqflist({ items = 0, title = 0 })
  check('quickfix', vim.api.nvim_buf_get_name(qf.items[1].bufnr):find('geometry/registry.py', 1, true), {
    title = qf.title,
    first = vim.api.nvim_buf_get_name(qf.items[1].bufnr),
  })
  vim.cmd.cclose()

  vim.cmd('MochiStatus')
  local status
  wait(':MochiStatus to answer', function()
    status = vim.iter(results.notifications):find(function(n)
      return vim.startswith(n.msg, 'mochi: status')
    end)
    return status ~= nil
  end, 60000)
  -- `key: value` lines, not a Lua table
  check('status', status.msg:find('\nindex%.chunks: %d+') and not status.msg:find('{', 1, true), { text = status.msg })

  check('progress_notified', vim.iter(results.notifications):any(function(n)
    return vim.startswith(n.msg, 'mochi: done')
  end))

  vim.cmd('checkhealth mochi')
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  check('checkhealth', report:find('client %d+ running') and not report:find('ERROR'), { text = report })
  vim.cmd.bwipeout() -- back to app/main.py
  assert(vim.api.nvim_get_current_buf() == buf)
end

local function finish(ok, err)
  results.ok = ok
  results.error = not ok and tostring(err) or nil
  for _, c in pairs(results.checks) do
    results.ok = results.ok and c.ok
  end
  vim.fn.writefile({ vim.json.encode(results) }, env.MOCHI_RESULT)
  vim.cmd(results.ok and 'qa!' or 'cquit')
end

--- Ghost text as a user gets it: insert mode after `return `, wait for the suggestion,
--- accept its first word (<M-Right>), dismiss what the server suggests next (<C-]>),
--- type a space and accept the new suggestion with <Tab>. Insert mode needs the main
--- loop, so this part runs on timers.
local function ghost_text(suggestion)
  local buf = vim.api.nvim_get_current_buf()
  local ns = vim.api.nvim_create_namespace('nvim.lsp.inline_completion')
  local last = vim.api.nvim_buf_line_count(buf)
  local function line()
    return vim.api.nvim_buf_get_lines(buf, last - 1, last, true)[1]
  end
  local function shown()
    local marks = vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })
    return marks[1] and marks[1][4].virt_text and marks[1][4].virt_text[1][1]
  end
  vim.api.nvim_win_set_cursor(0, { last, 0 })
  vim.api.nvim_feedkeys('A', 'n', false)
  local function later(fn, ms) -- a failure in a timer still ends Neovim, with the error
    vim.defer_fn(function()
      local ok, err = xpcall(fn, debug.traceback)
      if not ok then
        finish(false, err)
      end
    end, ms)
  end
  local function when_shown(fn) -- the next ghost text (or nil after 60 s)
    local deadline = vim.uv.now() + 60000
    local function poll()
      if not shown() and vim.uv.now() < deadline then
        return later(poll, 100)
      end
      fn(shown())
    end
    later(poll, 100)
  end
  local word = suggestion:match('^%s*[%w_]+') or suggestion:match('^%s*[^%w_%s]+')
  when_shown(function(first)
    check('ghost_text', first and suggestion:find(first, 1, true), {
      mode = vim.api.nvim_get_mode().mode,
      shown = first,
    })
    vim.api.nvim_feedkeys(vim.keycode('<M-Right>'), 'm', false) -- accept one word
    later(function()
      check('accepted_word', line() == '    return ' .. word, { line = line(), word = word })
      when_shown(function(rest)
        check('suggested_the_rest', rest ~= nil, { shown = rest })
        vim.api.nvim_feedkeys(vim.keycode('<C-]>'), 'm', false) -- dismiss
        later(function()
          check('dismissed', shown() == nil and line() == '    return ' .. word, { line = line() })
          vim.api.nvim_feedkeys(' ', 'n', false) -- typing asks again
          when_shown(function(again)
            vim.api.nvim_feedkeys(vim.keycode('<Tab>'), 'm', false) -- the plugin's accept key
            later(function()
              local typed = '    return ' .. word .. ' '
              local added = line():sub(#typed + 1)
              local ok = again and vim.startswith(line(), typed) and added:find(vim.trim(again), 1, true)
              check('accepted', ok, {
                line = line(),
                shown = again,
              })
              vim.cmd.stopinsert()
              finish(true)
            end, 500)
          end)
        end, 300)
      end)
    end, 300)
  end)
end

local ok, err = xpcall(main, debug.traceback)
if ok then
  ok, err = xpcall(ghost_text, debug.traceback, results.checks.inline_completion.detail.text)
end
if not ok then
  finish(false, err)
end
