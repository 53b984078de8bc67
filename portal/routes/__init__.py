"""The portal's routes, one module per area: sign_in (sign-in links, sessions), network (the
operator's and the central coordinator's pages), company (a company's pages)."""
