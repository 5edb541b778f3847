os.execute("touch /tmp/flatnet-sandbox-escaped")
return nil
