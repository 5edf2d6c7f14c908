import libprofile
g = libprofile.IdentityGraph(key=b"host secret")
g.add_type("email", normalizer="email")
ann = g.observe([("email", "Ann@Example.org")], ts=1, source="web")
print(g.profile_of("email", "ann@example.org") == ann)  # True
