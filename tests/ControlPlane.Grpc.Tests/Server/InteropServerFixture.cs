using ControlPlane.Grpc.Server;
using Microsoft.AspNetCore.Builder;

namespace ControlPlane.Grpc.Tests.Server;

/// <summary>Starts a real Kestrel server hosting the interop test service.</summary>
internal static class InteropServer
{
    public static Task<GrpcTestServer> StartAsync(Action<GrpcServerOptions>? grpc = null, bool tls = false, Action<WebApplication>? extra = null) =>
        GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureGrpc = grpc,
            Tls = tls,
            Map = app =>
            {
                app.MapGrpcService<InteropTestService>(InteropMethods.TestService);
                extra?.Invoke(app);
            },
        });
}
