"""Reports of results: text explanations, JSON and CSV files, the HTML report and its thumbnails."""
