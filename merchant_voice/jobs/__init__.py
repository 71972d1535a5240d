"""Background jobs: durable records in SQL, delivered by a queue (Huey).

* :mod:`.registry` - job kinds and the context a handler runs with;
* :mod:`.queue` - the one delivery interface and its Huey backends;
* :mod:`.service` - enqueue, claim, run, retry and recover jobs.
"""

from merchant_voice.jobs.registry import JobContext, JobHandler, JobRegistry
from merchant_voice.jobs.service import JobService

__all__ = ["JobContext", "JobHandler", "JobRegistry", "JobService"]
