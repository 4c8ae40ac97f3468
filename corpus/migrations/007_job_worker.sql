-- Which worker (host:process) has a job: with workers on several machines, an operator
-- must see where a running job is, and a test where a killed worker's job went.
ALTER TABLE jobs ADD COLUMN worker TEXT NOT NULL DEFAULT '';
