use continuum_runtime::continuum_event;

#[continuum_event("ai.task.log")]
pub struct Log<'a> {
    pub line: &'a str,
}

fn main() {}
