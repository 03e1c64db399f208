using System.Net;
using ControlPlane.TestBackend;

// Configuration: Backend__InstanceId (the id it answers with), Backend__Port (loopback).
var builder = WebApplication.CreateSlimBuilder(args);
var options = builder.Configuration.GetSection(BackendOptions.Section).Get<BackendOptions>() ?? new BackendOptions();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = null;
    kestrel.Listen(IPAddress.Loopback, options.Port);
});
builder.Services.AddSingleton(options);
builder.Services.AddSingleton<BackendState>();

var app = builder.Build();
app.Run(BackendHandler.HandleAsync);
app.Run();
