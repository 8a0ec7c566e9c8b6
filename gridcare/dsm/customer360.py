"""The load section of the customer 360 page (fetched as an HTML fragment by the page)."""

SECTIONS = [("负荷曲线", "dsm:customer_load_fragment", 50)]
