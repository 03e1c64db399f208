using ControlPlane.Dataplane;

var app = DataplaneHost.Build(args);
app.Run();

/// <summary>Entry point; public so functional tests can reference the assembly.</summary>
public partial class Program;
