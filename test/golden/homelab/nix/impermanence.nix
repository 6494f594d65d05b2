# What survives the root wipe: bind mounts from /persist (the seed's list).
{ nixlab, ... }:
let
  p = nixlab.spec.persistence;
  dir =
    d:
    if d ? mode then
      {
        directory = d.directory;
        mode = d.mode;
      }
    else
      d.directory;
in
{
  environment.persistence.${p.root} = {
    hideMounts = true;
    directories = map dir p.directories;
    files = p.files;
    users.${nixlab.spec.user.name}.directories = map dir p.userDirectories;
  };
}
