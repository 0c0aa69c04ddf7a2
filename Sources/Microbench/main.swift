print("Microbench is being written")
