"""Benefits: premium jobs with early access for pros, the Pro job feed, recommended pros for a job, and fair
promotion in the newsletter and on the site."""

from .jobs import (
    JobImportFailed,
    JobIn,
    JobProblem,
    JobView,
    Score,
    Viewer,
    get_job,
    list_jobs,
    read_job_rows,
    score_jobs,
    store_jobs,
    validate_jobs,
    visible,
)
from .matching import FeedItem, Recommendation, pro_feed, queue_job_digests, recommended_pros, worker_profiles
from .models import Feature, Job, NewsletterIssue, Subscriber

__all__ = [
    "Feature",
    "FeedItem",
    "Job",
    "JobImportFailed",
    "JobIn",
    "JobProblem",
    "JobView",
    "NewsletterIssue",
    "Recommendation",
    "Score",
    "Subscriber",
    "Viewer",
    "get_job",
    "list_jobs",
    "pro_feed",
    "queue_job_digests",
    "read_job_rows",
    "recommended_pros",
    "score_jobs",
    "store_jobs",
    "validate_jobs",
    "visible",
    "worker_profiles",
]
