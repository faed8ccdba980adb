"""Background work: the Dramatiq broker, thin actors, the worker and the scheduler."""
