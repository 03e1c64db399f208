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
