--- mochi for Neovim: starts `mochi serve`, turns on inline completion (ghost text) where
--- Neovim has it (0.12+), shows indexing progress and adds :Mochi* commands.
local M = {}

---@class mochi.Opts
---@field cmd? string the mochi executable (default: `mochi` on $PATH)
---@field filetypes? string[] replaces the default list (lsp/mochi.lua)
---@field init_options? table e.g. `{ dataDir = '...' }`
---@field settings? table the `[mochi]` settings, e.g. `{ completion = { multiline = true } }`
---@field inline? boolean ghost-text completion when Neovim has it (default: true)
---@field accept_key? string|false insert-mode key that accepts ghost text (default: '<Tab>')
---@field keys? mochi.Keys the other ghost-text keys (Copilot's; false turns one off)

---@class mochi.Keys
---@field accept_word? string|false accept up to the end of the next word (default: '<M-Right>')
---@field next? string|false the next suggestion (default: '<M-]>')
---@field prev? string|false the previous suggestion (default: '<M-[>')
---@field dismiss? string|false hide the suggestion (default: '<C-]>')

local DEFAULT_KEYS = { accept_word = '<M-Right>', next = '<M-]>', prev = '<M-[>', dismiss = '<C-]>' }

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
    end,
  })
end

--- Hide the suggestion without accepting it.
---@return boolean false when no suggestion is shown
function M.dismiss()
  return vim.lsp.inline_completion.get({ on_accept = function() end })
end

--- Insert-mode ghost-text keys for `buf`: each does what it did when nothing is shown.
local function map_keys(buf, opts)
  local function map(key, action, desc)
    if key then
      vim.keymap.set('i', key, function()
        if not action() then
          return key
        end
      end, { buffer = buf, expr = true, desc = 'mochi: ' .. desc })
    end
  end
  local keys = vim.tbl_extend('force', DEFAULT_KEYS, opts.keys or {})
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
      notify('status\n' .. M.format_status(status))
    end)
  end, { desc = 'mochi: show the server status' })
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
      if opts.inline ~= false and vim.lsp.inline_completion then
        vim.lsp.inline_completion.enable(true, { bufnr = ev.buf })
        map_keys(ev.buf, opts)
      elseif vim.lsp.completion then -- Neovim 0.11: the completion menu
        vim.lsp.completion.enable(true, client.id, ev.buf, { autotrigger = true })
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
