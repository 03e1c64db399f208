using ControlPlane.Dataplane;

// Before any socket exists: the runtime reads the setting when the first one is used.
SocketCompletions.PreferInline();
var app = DataplaneHost.Build(args);
app.Run();

/// <summary>Entry point; public so functional tests can reference the assembly.</summary>
public partial class Program;
