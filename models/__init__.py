"""The host's own tables. Plugins keep their models in their own folder."""

from models.access import ApiKey, Role, User
from models.credential import Credential
from models.job import Job, JobSchedule, JobStatus
from models.merchant import Merchant
from models.plugin_setting import MerchantPlugin

__all__ = [
    "ApiKey",
    "Credential",
    "Job",
    "JobSchedule",
    "JobStatus",
    "Merchant",
    "MerchantPlugin",
    "Role",
    "User",
]
