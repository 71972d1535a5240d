"""Background jobs: durable records in SQL, delivered by a queue (Huey).

* :mod:`.queue` - the one delivery interface and its Huey backends;
* :mod:`.service` - enqueue, claim, run, retry and recover jobs;
* :mod:`.schedule` - periodic kinds, queued once per period;
* :mod:`.workers` - worker threads and the heartbeat/recovery loop.

The kinds themselves, and what a handler receives, are :mod:`merchant_voice.job_kinds`.
"""

from merchant_voice.jobs.service import JobService

__all__ = ["JobService"]
