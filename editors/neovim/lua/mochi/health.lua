--- :checkhealth mochi
local M = {}

function M.check()
  local health = vim.health
  health.start('mochi')
  local cmd = (vim.lsp.config and vim.lsp.config.mochi or {}).cmd
  local exe = type(cmd) == 'table' and cmd[1] or 'mochi'
  if vim.fn.executable(exe) == 1 then
    health.ok(('`%s` found: %s'):format(exe, vim.fn.exepath(exe)))
  else
    health.error(('`%s` not found'):format(exe), {
      'Install mochi with scripts/setup.sh from the mochi repository',
      'or pass require("mochi").setup({ cmd = "/path/to/mochi" })',
    })
  end

  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 0 then
    health.error('Neovim ' .. version .. ' is too old', { 'mochi needs Neovim 0.11 or newer' })
  elseif vim.lsp.inline_completion then
    health.ok('Neovim ' .. version .. ': inline completion (ghost text) available')
  else
    health.warn('Neovim ' .. version .. ': no inline completion, using the completion menu', {
      'Neovim 0.12 or newer shows completions as ghost text',
    })
  end

  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ name = 'mochi' }) or {}
  if #clients == 0 then
    health.warn('no mochi client running', {
      'Call require("mochi").setup() and open a file of a supported type',
      'See :LspInfo / :checkhealth vim.lsp for errors of the server',
    })
  end
  for _, client in ipairs(clients) do
    local buffers = vim.tbl_keys(client.attached_buffers)
    health.ok(('client %d running in %s, attached to %d buffer(s)'):format(
      client.id,
      client.root_dir or '(no root)',
      #buffers
    ))
  end
end

return M
