using System.Runtime.CompilerServices;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Server.Internal;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Maps the REST routes of a bound gRPC service, one ASP.NET Core endpoint per route pattern and
/// HTTP method, so endpoint routing answers 405 with <c>Allow</c> for a known path and an unknown
/// path stays the app's 404. A GET endpoint also takes HEAD, answered as GET without the body
/// (RFC 9110 §9.3.2; Kestrel drops the body of a HEAD response and keeps its Content-Length).
/// Registered by <c>AddGrpcJsonTranscoding</c>; <c>MapGrpcService</c> calls it.
/// </summary>
internal sealed class TranscodingEndpointMapper(
    JsonTypeResolver types, TranscodedRouteTable table, IOptions<GrpcServerOptions> serverOptions, IOptions<GrpcJsonTranscodingOptions> options, ILoggerFactory loggers)
{
    private readonly ConditionalWeakTable<IEndpointRouteBuilder, Dictionary<(string Pattern, string HttpMethod), TranscodedRouteGroup>> _groups = new();
    private readonly ILogger _serverLogger = loggers.CreateLogger("ControlPlane.Grpc.Server");
    private readonly ILogger _logger = loggers.CreateLogger(TranscodingLog.Category);

    /// <summary>Reads and checks every method's HTTP rules; throws naming each bad rule, before anything is mapped.</summary>
    public IReadOnlyList<HttpRuleBinding> Plan(ServiceDescriptor service)
    {
        var errors = new List<string>();
        var bindings = service.Methods.SelectMany(m => HttpRuleReader.Read(m, errors)).ToList();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(
                $"Cannot serve gRPC service '{service.FullName}' as REST (google.api.http):{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors));
        }
        return bindings;
    }

    public IReadOnlyList<IEndpointConventionBuilder> Map(
        IEndpointRouteBuilder endpoints, ServiceDescriptor service, IReadOnlyList<BoundMethod> methods, IReadOnlyList<HttpRuleBinding> bindings)
    {
        types.Add(service.File);
        var groups = _groups.GetValue(endpoints, _ => []);
        var builders = new List<IEndpointConventionBuilder>();
        foreach (var binding in bindings)
        {
            var bound = methods.Single(m => m.Method == binding.Method);
            var route = new TranscodedRoute(binding, CreateHandler(binding, bound.Pipeline));
            // Grouped by the pattern without variable names: a second template of one shape is refused here, not ambiguous at request time.
            var key = (RoutePatternText.Key(binding.Template), binding.HttpMethod);
            lock (groups)
            {
                if (groups.TryGetValue(key, out var existing))
                {
                    existing.Add(route);
                }
                else
                {
                    string[] httpMethods = key.HttpMethod == HttpMethods.Get ? [HttpMethods.Get, HttpMethods.Head] : [key.HttpMethod];
                    var group = new TranscodedRouteGroup(httpMethods);
                    group.Add(route);
                    groups.Add(key, group);
                    table.Add(httpMethods, binding.RoutePattern, group);
                    builders.Add(endpoints.MapMethods(binding.RoutePattern, httpMethods, (RequestDelegate)group.DispatchAsync)
                        .WithDisplayName($"REST {binding} ({binding.Method.FullName})")
                        .WithMetadata(binding.Method));
                }
            }
            TranscodingLog.Mapped(_logger, binding.HttpMethod, binding.Template.Text, binding.Method.FullName);
        }
        return builders;
    }

    private Func<HttpContext, string[], Task> CreateHandler(HttpRuleBinding binding, ServerCallContinuation pipeline)
    {
        var context = new TranscodedMethodContext(binding, types, serverOptions.Value, options.Value, _serverLogger, _logger);
        var type = typeof(TranscodedMethod<,>).MakeGenericType(binding.Method.InputType.ClrType, binding.Method.OutputType.ClrType);
        var method = Activator.CreateInstance(type, context, pipeline)!;
        return (Func<HttpContext, string[], Task>)Delegate.CreateDelegate(typeof(Func<HttpContext, string[], Task>), method, nameof(TranscodedMethod<Google.Protobuf.WellKnownTypes.Empty, Google.Protobuf.WellKnownTypes.Empty>.HandleAsync));
    }
}
