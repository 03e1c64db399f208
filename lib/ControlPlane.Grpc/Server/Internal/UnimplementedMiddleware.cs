using ControlPlane.Grpc.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Server.Internal;

/// <summary>
/// Answers UNIMPLEMENTED for gRPC calls that no endpoint took (PROTOCOL-HTTP2.md: an unknown
/// service or method is a status, not an HTTP error); only real gRPC requests (HTTP/2, gRPC content
/// type) get it, anything else a plain 404. It runs after endpoint routing, as the last
/// middleware, instead of as a catch-all route: a route would be a candidate (and capture route
/// values) on every call, and would take POSTs meant for REST paths that routing answers with 405.
/// </summary>
internal sealed class UnimplementedStartupFilter(GrpcServiceRegistry registry, ILoggerFactory loggerFactory) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        next(app);
        var logger = loggerFactory.CreateLogger("ControlPlane.Grpc.Server");
        app.Run(http =>
        {
            if (!GrpcProtocol.IsGrpcRequest(http.Request) || !HttpMethods.IsPost(http.Request.Method))
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }
            var path = http.Request.Path.Value ?? "";
            var slash = path.IndexOf('/', 1);
            var service = slash > 1 ? path[1..slash] : "";
            ServerLog.Unimplemented(logger, http.Request.Path);
            var detail = registry.Contains(service) ? "Method is unimplemented." : "Service is unimplemented.";
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = GrpcProtocol.ContentType;
            MetadataEncoding.WriteStatus(new Status(StatusCode.Unimplemented, detail), (k, v) => http.Response.Headers[k] = v);
            return Task.CompletedTask;
        });
    };
}
