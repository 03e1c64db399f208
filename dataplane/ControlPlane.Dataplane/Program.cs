using ControlPlane.Dataplane;
using ControlPlane.Hosting;

// Before any socket exists: the runtime reads the setting when the first one is used.
SocketCompletions.PreferInline();
return HostRunner.Run("ControlPlane.Dataplane", () => DataplaneHost.Build(args));

/// <summary>Entry point; public so functional tests can reference the assembly.</summary>
public partial class Program;
