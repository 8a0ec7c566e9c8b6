SECTIONS = [("客户标签", "tags:portrait", 15)]
