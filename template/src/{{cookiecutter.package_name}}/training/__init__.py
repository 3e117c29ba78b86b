"""What Lightning lacks for this workflow: the overfit check, optimizer groups, the run itself."""
