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

local function setup(extra)
  require('mochi').setup(vim.tbl_extend('force', {
    cmd = env.MOCHI_CMD,
    init_options = { dataDir = env.MOCHI_DATA_DIR },
    settings = { completion = { enabled = true } },
  }, extra or {}))
end

--- Opens `path` and waits for the mochi client to attach to it.
---@return integer buf, vim.lsp.Client client
local function open(path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local buf = vim.api.nvim_get_current_buf()
  local client
  wait('the client to attach to ' .. path, function()
    client = vim.lsp.get_clients({ name = 'mochi', bufnr = buf })[1]
    return client ~= nil
  end, 60000)
  return buf, client
end

--- The triggerKind (1 Invoked, 2 Automatic) of each textDocument/inlineCompletion sent.
local asked = {}
results.asked = asked
local function record_inline_requests(client)
  local send = client.request
  client.request = function(self, method, params, ...)
    if method == 'textDocument/inlineCompletion' then
      table.insert(asked, params.context.triggerKind)
    end
    return send(self, method, params, ...)
  end
end

--- The kinds asked since `#asked` was `from`.
local function asked_since(from)
  return { unpack(asked, from + 1) }
end

--- :MochiStatus, as the notification it gives.
local function status_text()
  local before = #results.notifications
  vim.cmd('MochiStatus')
  local status
  wait(':MochiStatus to answer', function()
    status = vim.iter({ unpack(results.notifications, before + 1) }):find(function(n)
      return vim.startswith(n.msg, 'mochi: status')
    end)
    return status ~= nil
  end, 60000)
  return status.msg
end

local function main()
  vim.cmd('filetype on') -- `-u NONE` leaves filetype detection off
  setup()
  local buf, client = open(env.MOCHI_FILE)
  record_inline_requests(client)
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

  local status = status_text()
  -- `key: value` lines, not a Lua table; the plugin's own settings too
  check('status', status:find('\nindex%.chunks: %d+') and not status:find('{', 1, true), { text = status })
  check('status_auto', status:find('\nneovim%.auto_trigger: true') and status:find('\nneovim%.suggest_key: <M%-\\>'), {
    text = status,
  })

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

-- Insert mode needs the main loop, so the ghost-text parts run on timers.
local ns = vim.api.nvim_create_namespace('nvim.lsp.inline_completion')

local function last_line()
  return vim.api.nvim_buf_get_lines(0, -2, -1, true)[1]
end

--- The ghost text shown in the current buffer, or nil.
local function shown()
  local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
  return marks[1] and marks[1][4].virt_text and marks[1][4].virt_text[1][1]
end

local function later(fn, ms) -- a failure in a timer still ends Neovim, with the error
  vim.defer_fn(function()
    local ok, err = xpcall(fn, debug.traceback)
    if not ok then
      finish(false, err)
    end
  end, ms)
end

local function when(cond, fn) -- `fn(cond())` once cond() is truthy, or after 60 s
  local deadline = vim.uv.now() + 60000
  local function poll()
    if not cond() and vim.uv.now() < deadline then
      return later(poll, 100)
    end
    fn(cond())
  end
  later(poll, 100)
end

local function when_shown(fn) -- the next ghost text (or nil after 60 s)
  when(shown, fn)
end

local function first_word(text)
  return text:match('^%s*[%w_]+') or text:match('^%s*[^%w_%s]+')
end

--- Ghost text as a user gets it: insert mode after `return `, wait for the suggestion,
--- accept its first word (<M-Right>), dismiss what the server suggests next (<C-]>),
--- type a space and accept the new suggestion with <Tab>; all asked for as you type.
local function ghost_text(suggestion, done)
  local from = #asked
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(0), 0 })
  vim.api.nvim_feedkeys('A', 'n', false)
  local word = first_word(suggestion)
  when_shown(function(first)
    check('ghost_text', first and suggestion:find(first, 1, true), {
      mode = vim.api.nvim_get_mode().mode,
      shown = first,
    })
    local kinds = asked_since(from)
    check('asked_as_typed', #kinds > 0 and vim.iter(kinds):all(function(kind)
      return kind == 2 -- Automatic
    end), { asked = kinds })
    vim.api.nvim_feedkeys(vim.keycode('<M-Right>'), 'm', false) -- accept one word
    later(function()
      check('accepted_word', last_line() == '    return ' .. word, { line = last_line(), word = word })
      when_shown(function(rest)
        check('suggested_the_rest', rest ~= nil, { shown = rest })
        vim.api.nvim_feedkeys(vim.keycode('<C-]>'), 'm', false) -- dismiss
        later(function()
          check('dismissed', shown() == nil and last_line() == '    return ' .. word, { line = last_line() })
          vim.api.nvim_feedkeys(' ', 'n', false) -- typing asks again
          when_shown(function(again)
            vim.api.nvim_feedkeys(vim.keycode('<Tab>'), 'm', false) -- the plugin's accept key
            later(function()
              local typed = '    return ' .. word .. ' '
              local added = last_line():sub(#typed + 1)
              local ok = again and vim.startswith(last_line(), typed) and added:find(vim.trim(again), 1, true)
              check('accepted', ok, {
                line = last_line(),
                shown = again,
              })
              vim.cmd.stopinsert()
              later(done, 300)
            end, 500)
          end)
        end, 300)
      end)
    end, 300)
  end)
end

--- Shown where the completion menu stands in for ghost text: a Neovim whose Completor has
--- no `request` (what the plugin reaches for) gets the suggestion in the menu from <M-\>.
local function menu_fallback(done)
  local capability = require('vim.lsp._capability')
  local Completor = capability.all.inline_completion
  local request = Completor.request
  Completor.request = nil
  vim.api.nvim_buf_set_lines(0, -2, -1, true, { '    return ' })
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(0), #'    return ' })
  vim.api.nvim_feedkeys(vim.keycode('<M-\\>'), 'm', false)
  local function menu() -- what complete() offers (headless, the menu is never drawn)
    local items = vim.fn.complete_info({ 'items' }).items
    return #items > 0 and items or nil
  end
  when(menu, function(items)
    check('menu_fallback', items and vim.iter(results.notifications):any(function(n)
      return n.msg:find('the menu shows the suggestion', 1, true)
    end), { items = items, notifications = results.notifications })
    Completor.request = request
    vim.api.nvim_feedkeys(vim.keycode('<C-e>'), 'n', false)
    vim.cmd.stopinsert()
    later(done, 300)
  end)
end

--- setup({ auto_trigger = false }), in a file opened after it: typing asks nothing; <M-\>
--- asks (Invoked) and shows ghost text, <M-Right> takes its first word and asks for the
--- rest, <Tab> accepts that, and nothing more is asked.
local function manual_trigger(done)
  -- Neovim 0.12-dev's Completor hooks InsertEnter/CursorMovedI in every buffer: keep
  -- main.py's (automatic) one from asking while manual.py is typed in
  vim.lsp.inline_completion.enable(false, { bufnr = vim.api.nvim_get_current_buf() })
  setup({ auto_trigger = false })
  local status = status_text()
  check('status_manual', status:find('\nneovim%.auto_trigger: false'), { text = status })
  local buf = open(vim.fs.joinpath(vim.fs.dirname(env.MOCHI_FILE), 'manual.py'))
  check('manual_off', not vim.lsp.inline_completion.is_enabled({ bufnr = buf }))
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, {
    'def add(a, b):',
    '    return a + b',
    '',
    '',
    'def multiply(a, b):',
    '    return',
  })
  local from = #asked
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(buf), 0 })
  vim.api.nvim_feedkeys('A ', 'n', false) -- typing: well past the 200 ms debounce
  later(function()
    check('manual_typing_asks_nothing', #asked == from and not shown() and last_line() == '    return ', {
      asked = asked_since(from),
      shown = shown(),
      line = last_line(),
      mode = vim.api.nvim_get_mode().mode,
    })
    vim.api.nvim_feedkeys(vim.keycode('<M-\\>'), 'm', false) -- ask now
    when_shown(function(first)
      check('manual_suggested', first and vim.deep_equal(asked_since(from), { 1 }), {
        asked = asked_since(from),
        shown = first,
      })
      local word = first and first_word(first) or ''
      vim.api.nvim_feedkeys(vim.keycode('<M-Right>'), 'm', false)
      when_shown(function(rest)
        check('manual_rest', rest and last_line() == '    return ' .. word, {
          asked = asked_since(from),
          shown = rest,
          line = last_line(),
        })
        vim.api.nvim_feedkeys(vim.keycode('<Tab>'), 'm', false)
        later(function()
          local typed = '    return ' .. word
          local ok = rest and last_line():sub(#typed + 1):find(vim.trim(rest), 1, true)
          check('manual_accepted', ok and vim.deep_equal(asked_since(from), { 1, 1 }) and not shown(), {
            asked = asked_since(from),
            line = last_line(),
            shown = shown(),
          })
          menu_fallback(done)
        end, 1000)
      end)
    end)
  end, 1000)
end

local ok, err = xpcall(main, debug.traceback)
if ok then
  ok, err = xpcall(ghost_text, debug.traceback, results.checks.inline_completion.detail.text, function()
    manual_trigger(function()
      finish(true)
    end)
  end)
end
if not ok then
  finish(false, err)
end
