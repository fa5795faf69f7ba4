--- mochi for Neovim: starts `mochi serve`, turns on inline completion (ghost text) where
--- Neovim has it (0.12+), shows indexing progress and adds :Mochi* commands.
local M = {}

---@class mochi.Opts
---@field cmd? string the mochi executable (default: `mochi` on $PATH)
---@field filetypes? string[] replaces the default list (lsp/mochi.lua)
---@field init_options? table e.g. `{ dataDir = '...' }`
---@field settings? table the `[mochi]` settings, e.g. `{ completion = { multiline = true } }`
---@field inline? boolean ghost-text completion when Neovim has it (default: true)
---@field auto_trigger? boolean suggest as you type (default: true); false: only keys.suggest asks
---@field accept_key? string|false insert-mode key that accepts ghost text (default: '<Tab>')
---@field keys? mochi.Keys the other ghost-text keys (Copilot's; false turns one off)

---@class mochi.Keys
---@field accept_word? string|false accept up to the end of the next word (default: '<M-Right>')
---@field next? string|false the next suggestion (default: '<M-]>')
---@field prev? string|false the previous suggestion (default: '<M-[>')
---@field dismiss? string|false hide the suggestion (default: '<C-]>')
---@field suggest? string|false ask for a suggestion now (default: '<M-\>')

local DEFAULT_KEYS = {
  accept_word = '<M-Right>',
  next = '<M-]>',
  prev = '<M-[>',
  dismiss = '<C-]>',
  suggest = '<M-\\>',
}

local options = {} ---@type mochi.Opts the last setup()'s

local function keys_of(opts)
  return vim.tbl_extend('force', DEFAULT_KEYS, opts.keys or {})
end

local function notify(msg, level)
  vim.notify('mochi: ' .. msg, level or vim.log.levels.INFO)
end

--- The mochi client of the current buffer, or any running one.
---@return vim.lsp.Client?
function M.client()
  return vim.lsp.get_clients({ name = 'mochi', bufnr = 0 })[1]
    or vim.lsp.get_clients({ name = 'mochi' })[1]
end

--- Runs a `mochi.*` command on the server; `on_result(result, client)` gets the answer.
---@param name string
---@param args? any[]
---@param on_result? fun(result: any, client: vim.lsp.Client)
function M.exec(name, args, on_result)
  local client = M.client()
  if not client then
    return notify('the language server is not running (see :checkhealth mochi)', vim.log.levels.WARN)
  end
  client:exec_cmd({ title = name, command = name, arguments = args or {} }, { bufnr = 0 }, function(err, result)
    if err then
      return notify(name .. ' failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
    if on_result then
      on_result(result, client)
    end
  end)
end

local function search(query)
  M.exec('mochi.search', { query }, function(locations, client)
    local items = {} -- best match first (locations_to_items would sort them by file name)
    for _, location in ipairs(locations or {}) do
      vim.list_extend(items, vim.lsp.util.locations_to_items({ location }, client.offset_encoding))
    end
    vim.fn.setqflist({}, ' ', { title = 'mochi search: ' .. query, items = items })
    if #items == 0 then
      return notify('nothing found for ' .. query)
    end
    vim.cmd('botright copen')
  end)
end

--- `mochi.ask`'s answer as Markdown lines: the question quoted, the answer (its citations
--- read `path:line`), then the sources; an attributed citation (matched to a claim after
--- the answer was written) is marked.
---@param question string
---@param result table?
---@return string[]
function M.format_answer(question, result)
  local lines = {}
  for _, line in ipairs(vim.split(question, '\n', { plain = true })) do
    lines[#lines + 1] = '> ' .. line
  end
  lines[#lines + 1] = ''
  local answer = type(result) == 'table' and type(result.answer) == 'string' and vim.trim(result.answer) or ''
  vim.list_extend(lines, vim.split(answer ~= '' and answer or '_(no answer)_', '\n', { plain = true }))
  local citations = type(result) == 'table' and type(result.citations) == 'table' and result.citations or {}
  lines[#lines + 1] = ''
  lines[#lines + 1] = #citations > 0 and '**Sources**' or '_No sources cited._'
  for _, c in ipairs(citations) do
    local span = (c.endLine and c.endLine ~= vim.NIL and c.endLine > c.line) and (c.line .. '-' .. c.endLine) or c.line
    lines[#lines + 1] = ('- %s:%s%s'):format(c.path, span, c.how == 'attributed' and ' _(attributed)_' or '')
  end
  return lines
end

--- The question for :MochiAsk over a range: what was typed (else "Explain this code") and
--- the selected lines in a fenced block.
local function question_for(typed, first, last)
  local ask = vim.trim(typed) ~= '' and vim.trim(typed) or 'Explain this code'
  if not first then
    return ask
  end
  local code = vim.api.nvim_buf_get_lines(0, first - 1, last, false)
  return ('%s:\n```%s\n%s\n```'):format(ask, vim.bo.filetype, table.concat(code, '\n'))
end

local function ask(question)
  notify('asking…')
  M.exec('mochi.ask', { question }, function(result, client)
    local buf = vim.api.nvim_create_buf(false, true)
    vim.bo[buf].filetype = 'markdown'
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, M.format_answer(question, result))
    vim.bo[buf].modifiable = false
    vim.cmd('botright split')
    vim.api.nvim_win_set_buf(0, buf)
    local items = {}
    for _, c in ipairs(type(result) == 'table' and result.citations or {}) do
      local root = client.root_dir or vim.fn.getcwd()
      items[#items + 1] = { filename = root .. '/' .. c.path, lnum = c.line, text = c.how or 'cited' }
    end
    vim.fn.setqflist({}, ' ', { title = 'mochi ask: ' .. vim.split(question, '\n')[1], items = items })
  end)
end

--- `mochi.status` as `key: value` lines in key order; a nested object's keys are dotted
--- (`index.chunks: 8`), a list is comma-separated, null is "none".
---@param status table
---@return string
function M.format_status(status)
  local lines = {}
  local function add(prefix, value)
    if value == vim.NIL or value == nil or (type(value) == 'table' and vim.tbl_isempty(value)) then
      lines[#lines + 1] = prefix .. ': none'
    elseif type(value) == 'table' and vim.islist(value) then
      lines[#lines + 1] = prefix .. ': ' .. table.concat(vim.tbl_map(vim.inspect, value), ', ')
    elseif type(value) == 'table' then
      for key, inner in pairs(value) do
        add(prefix .. '.' .. key, inner)
      end
    else
      lines[#lines + 1] = prefix .. ': ' .. tostring(value)
    end
  end
  for key, value in pairs(status or {}) do
    add(key, value)
  end
  table.sort(lines)
  return table.concat(lines, '\n')
end

--- The text of an inline completion item that is not in the buffer yet: the item replaces
--- its range (which may start before the cursor, over what was typed) with its text.
local function text_after_cursor(item)
  local text = type(item.insert_text) == 'string' and item.insert_text or item.insert_text.value
  if not item.range then
    return text
  end
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local start = item.range.start
  if start.row > row - 1 or (start.row == row - 1 and start.col > col) then
    return text
  end
  local typed = table.concat(vim.api.nvim_buf_get_text(0, start.row, start.col, row - 1, col, {}), '\n')
  return vim.startswith(text, typed) and text:sub(#typed + 1) or text
end

--- The ghost text of `buf`: vim.lsp.inline_completion's Completor. Neovim 0.12 has no
--- public "ask now" (only enable, select and get), so this reaches the private object and
--- checks the methods used; nil where a later Neovim has changed them.
local function completor(buf)
  local ok, capability = pcall(require, 'vim.lsp._capability')
  local class = ok and type(capability.all) == 'table' and capability.all.inline_completion
  local c = type(class) == 'table' and type(class.active) == 'table' and class.active[buf]
  for _, method in ipairs({ 'request', 'abort', 'automatic_request' }) do
    if type(c) ~= 'table' or type(c[method]) ~= 'function' then
      return nil
    end
  end
  return c
end

--- auto_trigger = false: the Completor's typing hook (InsertEnter, CursorMovedI) drops what
--- is shown instead of asking, except after accept_word, when it asks for the rest.
local function ask_only_when_told(c)
  c.automatic_request = function(self)
    self:abort()
    if self.mochi_rest_wanted then
      self.mochi_rest_wanted = nil
      self:request(vim.lsp.protocol.InlineCompletionTriggerKind.Invoked)
    end
  end
end

--- Ask for a suggestion at the cursor now (triggerKind Invoked), shown as ghost text; with
--- auto_trigger = false this is how one comes. Where there is no Completor to ask (Neovim
--- 0.11, or one that has changed it), the suggestion comes in the completion menu: a
--- request of our own would have no public way to show its answer as ghost text.
function M.suggest()
  local buf = vim.api.nvim_get_current_buf()
  local client = vim.lsp.get_clients({ name = 'mochi', bufnr = buf })[1]
  if not client then
    return notify('the language server is not attached to this buffer', vim.log.levels.WARN)
  end
  local manual = options.auto_trigger == false
  if options.inline ~= false and vim.lsp.inline_completion then
    vim.lsp.inline_completion.enable(true, { bufnr = buf }) -- off until now when manual
    local c = completor(buf)
    if c then
      if manual then
        ask_only_when_told(c)
      end
      return c:request(vim.lsp.protocol.InlineCompletionTriggerKind.Invoked)
    end
    vim.lsp.inline_completion.enable(not manual, { bufnr = buf })
    vim.notify_once('mochi: this Neovim cannot be asked for ghost text; the menu shows the suggestion')
    vim.lsp.completion.enable(true, client.id, buf, { autotrigger = false })
  end
  vim.lsp.completion.get()
end

--- Accept the suggestion up to the end of its next word (or run of punctuation); the
--- server then suggests the rest.
---@return boolean false when no suggestion is shown
function M.accept_word()
  return vim.lsp.inline_completion.get({
    on_accept = function(item)
      local rest = text_after_cursor(item)
      local word = rest:match('^%s*[%w_]+') or rest:match('^%s*[^%w_%s]+') or rest
      local lines = vim.split(word, '\n')
      local row, col = unpack(vim.api.nvim_win_get_cursor(0))
      vim.api.nvim_buf_set_text(0, row - 1, col, row - 1, col, lines)
      vim.api.nvim_win_set_cursor(0, { row + #lines - 1, (#lines == 1 and col or 0) + #lines[#lines] })
      local c = options.auto_trigger == false and completor(vim.api.nvim_get_current_buf())
      if c then
        c.mochi_rest_wanted = true -- for ask_only_when_told, on the cursor move just made
      end
    end,
  })
end

--- Hide the suggestion without accepting it.
---@return boolean false when no suggestion is shown
function M.dismiss()
  return vim.lsp.inline_completion.get({ on_accept = function() end })
end

--- Insert-mode keys for `buf`: each does what it did when nothing is shown. Without ghost
--- text (the completion menu) only keys.suggest.
local function map_keys(buf, opts, ghost_text)
  local function map(key, action, desc)
    if key then
      vim.keymap.set('i', key, function()
        if not action() then
          return key
        end
      end, { buffer = buf, expr = true, desc = 'mochi: ' .. desc })
    end
  end
  local keys = keys_of(opts)
  map(keys.suggest, function()
    vim.schedule(M.suggest) -- out of the expr mapping's textlock
    return true
  end, 'ask for a suggestion now')
  if not ghost_text then
    return
  end
  local accept = opts.accept_key == nil and '<Tab>' or opts.accept_key
  map(accept, vim.lsp.inline_completion.get, 'accept the suggestion')
  map(keys.accept_word, M.accept_word, 'accept the next word of the suggestion')
  map(keys.dismiss, M.dismiss, 'dismiss the suggestion')
  for name, count in pairs({ next = 1, prev = -1 }) do
    map(keys[name], function()
      vim.lsp.inline_completion.select({ bufnr = buf, count = count })
      return true
    end, name == 'next' and 'the next suggestion' or 'the previous suggestion')
  end
end

local function create_commands()
  local command = vim.api.nvim_create_user_command
  command('MochiReindex', function()
    M.exec('mochi.reindex')
  end, { desc = 'mochi: re-index the workspace' })
  command('MochiSearch', function(o)
    search(o.args)
  end, { nargs = '+', desc = 'mochi: semantic search, results in the quickfix list' })
  command('MochiTrain', function()
    M.exec('mochi.train', {}, function(result)
      notify('training: ' .. vim.inspect(result))
    end)
  end, { desc = 'mochi: train the experts on the repository' })
  command('MochiStatus', function()
    M.exec('mochi.status', {}, function(status)
      status = type(status) == 'table' and status or {}
      status.neovim = { auto_trigger = options.auto_trigger ~= false, suggest_key = keys_of(options).suggest }
      notify('status\n' .. M.format_status(status))
    end)
  end, { desc = 'mochi: show the server status' })
  command('MochiAsk', function(o)
    if o.args == '' and o.range == 0 then
      return notify('usage: :MochiAsk {question}, or over a range: :\'<,\'>MochiAsk [question]', vim.log.levels.WARN)
    end
    ask(question_for(o.args, o.range > 0 and o.line1 or nil, o.line2))
  end, { nargs = '*', range = true, desc = 'mochi: ask about the repository; the answer cites path:line' })
  command('MochiExplainCompletion', function()
    M.exec('mochi.explainCompletion', { vim.uri_from_bufnr(0) }, function(result)
      if result == nil or result == vim.NIL then
        return notify('no completion served in this buffer yet')
      end
      notify('last completion\n' .. vim.inspect(result))
    end)
  end, { desc = 'mochi: which expert served the last completion here, why, and its context' })
  command('MochiSuggest', function()
    M.suggest()
  end, { desc = 'mochi: ask for a suggestion at the cursor now' })
end

--- `$/progress` of the mochi server (indexing, training) as notifications.
local function show_progress(group)
  vim.api.nvim_create_autocmd('LspProgress', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      local value = ev.data.params and ev.data.params.value
      if not client or client.name ~= 'mochi' or type(value) ~= 'table' then
        return
      end
      local text = table.concat(
        vim.tbl_filter(function(s)
          return s ~= ''
        end, {
          value.title or '',
          value.percentage and (value.percentage .. '%') or '',
          value.message or '',
        }),
        ' '
      )
      if value.kind == 'report' then
        vim.api.nvim_echo({ { text } }, false, {})
      else
        notify((value.kind == 'end' and 'done: ' or '') .. text:gsub('^mochi: ', ''))
      end
    end,
  })
end

local function on_attach(group, opts)
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if not client or client.name ~= 'mochi' then
        return
      end
      local auto = opts.auto_trigger ~= false
      if opts.inline ~= false and vim.lsp.inline_completion then
        vim.lsp.inline_completion.enable(auto, { bufnr = ev.buf }) -- manual: M.suggest turns it on
        map_keys(ev.buf, opts, true)
      elseif vim.lsp.completion then -- Neovim 0.11: the completion menu
        vim.lsp.completion.enable(true, client.id, ev.buf, { autotrigger = auto })
        map_keys(ev.buf, opts, false)
      end
    end,
  })
end

--- `t`, unless it is empty (an empty Lua table goes out as a JSON array, not an object)
local function nonempty(t)
  return t and next(t) ~= nil and t or nil
end

---@param opts? mochi.Opts
function M.setup(opts)
  opts = opts or {}
  options = opts
  if vim.fn.has('nvim-0.11') == 0 then
    return notify('needs Neovim 0.11 or newer (0.12 for ghost text)', vim.log.levels.ERROR)
  end
  local exe = opts.cmd or 'mochi'
  if vim.fn.executable(exe) == 0 then
    notify(
      ('`%s` not found: install mochi (scripts/setup.sh) or pass setup({ cmd = "/path/to/mochi" })'):format(exe),
      vim.log.levels.ERROR
    )
  end
  vim.lsp.config('mochi', {
    cmd = { exe, 'serve' },
    filetypes = opts.filetypes,
    init_options = nonempty(opts.init_options),
    settings = nonempty(opts.settings) and { mochi = opts.settings },
  })
  local group = vim.api.nvim_create_augroup('mochi', { clear = true })
  create_commands()
  show_progress(group)
  on_attach(group, opts)
  vim.lsp.enable('mochi')
end

return M
