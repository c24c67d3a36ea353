endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
    "read:reports" => "Read all reports",
}

fn main() {}
