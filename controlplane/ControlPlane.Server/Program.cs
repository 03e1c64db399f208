using ControlPlane.Hosting;
using ControlPlane.Server;

return HostRunner.Run("ControlPlane.Server", () => ControlPlaneHost.Build(args));

/// <summary>Entry point; public so functional tests can reference the assembly.</summary>
public partial class Program;
