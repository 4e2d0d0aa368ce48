"""Service errors. Each carries a message written for the analyst, shown as-is by the UI and CLI."""


class ServiceError(Exception):
    """Base class: a request the services refused or could not complete."""

    @property
    def message(self) -> str:
        return str(self)


class JobNotFound(ServiceError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"job not found: {job_id!r}")
        self.job_id = job_id


class JobStateError(ServiceError):
    """A transition the job's current status does not allow; the message says why."""


class UploadRejected(ServiceError):
    """The file is not acceptable as a video to analyse; the message says what is wrong."""


class StorageError(ServiceError):
    """Files on disk cannot be read, written or found as the database expects."""


class InvalidArgument(ServiceError):
    """A request parameter outside its allowed values."""


class UploadTooLarge(UploadRejected):
    """The upload is over NETBALL_MAX_UPLOAD_MB; refused as soon as the limit is passed."""


class NotAVideo(UploadRejected):
    """The upload's file type is not a video we accept, or its content does not decode."""


class OutputNotFound(ServiceError):
    """A job exists but lacks the output file (or result) asked for; the message names it."""


class DatabaseBusy(ServiceError):
    """Another program held the job database's write lock longer than the services wait."""


class DatabaseFull(StorageError):
    """The disk holding the job database is full: nothing can be recorded until space is freed."""
