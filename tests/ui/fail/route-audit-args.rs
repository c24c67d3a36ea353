endpoint_auth::route_audit!(strictly);

fn main() {}
