"""Video -> detections -> tracks -> court coordinates -> output files.

Pure: imports no web framework, database or queue, so it runs and tests on its own.
"""
