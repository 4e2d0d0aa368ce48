"""The job queue (a SqliteHuey under the data dir) and the task that analyses one job."""
