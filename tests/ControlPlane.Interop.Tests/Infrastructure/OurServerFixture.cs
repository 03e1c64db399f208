using ControlPlane.Grpc.Server;

namespace ControlPlane.Interop.Tests.Infrastructure;

/// <summary>
/// One real Kestrel server (h2c on loopback) per test class, running our runtime with
/// interop.v1.TestService, grpc.health.v1.Health and both reflection services.
/// </summary>
public sealed class OurServerFixture : IAsyncLifetime
{
    private GrpcTestServer? _server;

    public GrpcTestServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>A mark in the server's log; <see cref="AssertNoErrorsSince"/> checks what came after it.</summary>
    public int LogMark() => Server.Logs.Records.Count;

    /// <summary>Fails when the server logged an error since <paramref name="mark"/>: a call that went wrong on the server's side.</summary>
    public void AssertNoErrorsSince(int mark)
    {
        var errors = Server.Logs.Records.Skip(mark).Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Error).ToList();
        Assert.True(errors.Count == 0, "The server logged errors:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => $"{e}{Environment.NewLine}{e.Exception}")));
    }

    /// <summary>The server's log since <paramref name="mark"/>, for failure messages.</summary>
    public string LogSince(int mark) => string.Join(Environment.NewLine, Server.Logs.Records.Skip(mark));

    public async ValueTask InitializeAsync() =>
        _server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Map = app =>
            {
                app.MapGrpcService<InteropTestService>(InteropMethods.TestService);
                app.MapGrpcHealthService();
                app.MapGrpcReflectionService();
            },
        });

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
