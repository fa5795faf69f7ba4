"""The durable job queue (SQLite), the runner that executes jobs, and the job handlers."""
