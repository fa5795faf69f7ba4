-- The default configuration of the mochi language server, in the shape of
-- nvim-lspconfig's `lsp/*.lua`: with editors/neovim on 'runtimepath',
-- `vim.lsp.enable('mochi')` alone works; `require('mochi').setup()` adds commands.
---@type vim.lsp.Config
return {
  cmd = { 'mochi', 'serve' },
  filetypes = {
    'bash', 'c', 'cpp', 'cs', 'css', 'go', 'html', 'java', 'javascript', 'javascriptreact',
    'json', 'kotlin', 'lua', 'markdown', 'php', 'python', 'rst', 'ruby', 'rust', 'scala',
    'sh', 'sql', 'swift', 'toml', 'typescript', 'typescriptreact', 'yaml',
  },
  root_markers = { '.mochi.toml', '.git', 'pyproject.toml' },
}
