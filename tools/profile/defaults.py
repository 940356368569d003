"""The profiler's default settings, in a module with no imports so the CLI can show them
without loading the profiler."""

# Samples inside the timed calls needed to rank functions: with 2,000 a function holding 5 %
# of the time is known to about ±1 point (binomial), enough to order the top few.
SAMPLE_FLOOR = 2000
# py-spy samples from outside the process; 1 kHz reaches the floor in ~2 s of timed calls.
DEFAULT_RATE_HZ = 1000
SAMPLE_TIME_CAP_S = 120.0  # sampling stops here even below the floor (and says so)
