print("LoadGen is being written")
