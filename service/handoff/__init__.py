"""What a stored message is handed on to: the job queue, waiter notifications, replays."""
