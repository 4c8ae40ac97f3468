-- As ../007_job_worker.sql.
ALTER TABLE jobs ADD COLUMN worker TEXT NOT NULL DEFAULT '';
