"""Reports of trials and sessions: figures (matplotlib, Agg), a self-contained HTML file, the tidy
metric tables shared by the report, the CSV export and the batch table, and the cited reference
ranges that flags are judged against."""
