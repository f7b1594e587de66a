"""Process set-up shared by web, worker and SMTP: logging, Sentry scrubbing, tuning, SIGHUP reload."""
