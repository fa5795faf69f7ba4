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
      notify('status\n' .. vim.inspect(status))
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
        local key = opts.accept_key == nil and '<Tab>' or opts.accept_key
        if key then
          vim.keymap.set('i', key, function()
            if not vim.lsp.inline_completion.get() then
              return key -- no suggestion shown: the key does what it did
            end
          end, { buffer = ev.buf, expr = true, desc = 'mochi: accept the suggestion' })
        end
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
