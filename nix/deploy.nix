# The master's deploy engine: a oneshot unit running the bundled nixlab CLI; an
# activation step that installs each generation's plan and manifests ("the release");
# and a trigger unit that restarts the deploy, without waiting for it, only when the
# release changed.
#
# Fixes of the seed's k8s-deploy (services.md §7): a switch never waits for a deploy (16:
# restart --no-block, and the unit is kept out of multi-user.target's ordering); the
# deploy starts only after sops-nix has installed this generation's secrets, and the
# unit's command is a fixed path into the release, so whichever unit definition systemd
# has loaded runs this generation's engine, plan and manifests (17).
#
# Both ways sops-nix installs secrets are covered without naming its steps: as an
# activation script (the default), secrets are in place before switch-to-configuration
# (re)starts units; as the sops-install-secrets unit (sops.useSystemdActivation, implied
# by systemd-sysusers or userborn), the trigger is ordered after that unit.
{
  lib,
  pkgs,
  nixlab,
  ...
}:
let
  d = nixlab.spec.deploy;
  # On /run: rebuilt by every activation, boot included, so it always names the release
  # of the running generation (a persisted link could name another one after a rollback).
  releaseLink = "/run/nixlab/release";
  release = pkgs.runCommand "nixlab-release" { } ''
    mkdir -p $out
    cp ${nixlab.root + "/${d.plan}"} $out/deploy-plan.json
    cp -r ${nixlab.root + "/${d.manifests}"} $out/manifests
    cp ${nixlab.root + "/${d.engine}"} $out/nixlab.mjs
    cat > $out/deploy <<EOF
    #!${pkgs.runtimeShell}
    exec ${lib.getExe pkgs.nodejs} $out/nixlab.mjs deploy --plan $out/deploy-plan.json --secrets-dir ${lib.escapeShellArg d.secretsDir} --state ${lib.escapeShellArg d.stateDir} --api-timeout 300 --log-format plain
    EOF
    chmod +x $out/deploy
  '';
in
lib.mkIf (d != null) {
  systemd.services.nixlab-deploy = {
    description = "nixlab: deploy the cluster's workloads";
    wantedBy = [ "multi-user.target" ];
    wants = [
      "k3s.service"
      "network-online.target"
    ];
    after = [
      "k3s.service"
      "network-online.target"
      "sysinit.target"
      "basic.target"
      "sops-install-secrets.service"
    ];
    before = [ "shutdown.target" ];
    conflicts = [ "shutdown.target" ];
    # Without default dependencies multi-user.target is not ordered after this unit, so
    # neither boot nor `switch` (which starts that target) waits for a whole deploy.
    unitConfig.DefaultDependencies = false;
    # The activation step below restarts it, without blocking; switch must not.
    restartIfChanged = false;
    environment.KUBECONFIG = d.kubeconfig;
    serviceConfig = {
      Type = "oneshot";
      ExecStart = "${releaseLink}/deploy";
      # Bounded: a hung deploy fails the unit instead of running forever.
      TimeoutStartSec = d.timeoutSeconds;
    };
  };

  # Re-runs the engine periodically: groups left applied-but-not-ready (exit 4) are
  # re-checked, and a group whose objects went missing (or whose Secrets were edited) is
  # re-applied. A run with nothing to do sends no writes.
  systemd.timers.nixlab-deploy = {
    wantedBy = [ "timers.target" ];
    timerConfig = {
      OnBootSec = "10min";
      OnUnitInactiveSec = "15min";
      RandomizedDelaySec = "1min";
    };
  };

  # Started at boot and restarted by a switch only when the release changed (its restart
  # trigger); it only queues a restart of the deploy, so neither waits for a deploy.
  systemd.services.nixlab-release = {
    description = "nixlab: start a deploy of a new release";
    wantedBy = [ "multi-user.target" ];
    after = [
      "sops-install-secrets.service"
      "k3s.service"
    ];
    restartTriggers = [ release ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = "${pkgs.systemd}/bin/systemctl restart --no-block nixlab-deploy.service";
    };
  };

  # Installs the release link; the nixlab-release unit above starts the deploy.
  system.activationScripts.nixlab-release = {
    deps = [ "specialfs" ];
    text = ''
      nixlab_release=${release}
      if [ "$(readlink ${releaseLink} 2>/dev/null || true)" != "$nixlab_release" ]; then
        mkdir -p ${dirOf releaseLink}
        ln -sfn "$nixlab_release" ${releaseLink}.new
        mv -T ${releaseLink}.new ${releaseLink}
        echo "nixlab: installed deploy release $nixlab_release"
      fi
    '';
  };
}
