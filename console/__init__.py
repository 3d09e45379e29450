"""The officer console: server-rendered pages under /console/ for local-authority CME
officers, in Welsh and English. Another edge beside `api/`, calling the same services."""
