"""One module per upstream source; each turns raw responses into normalised records."""
