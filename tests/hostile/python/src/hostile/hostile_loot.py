LOOT = None
