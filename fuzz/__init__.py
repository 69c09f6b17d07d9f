"""Coverage-guided fuzzing of the photo loader and metadata readers (atheris); see fuzz/photo.py."""
