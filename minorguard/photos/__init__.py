"""Photos: decoding within limits, metadata, finding pictures in folders, file names shown safely."""
