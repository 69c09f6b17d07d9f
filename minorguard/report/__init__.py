"""Reports of results: text explanations, JSON and CSV files, the HTML report, its thumbnails and people rows."""
