using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Server.Internal;

/// <summary>
/// One bound method: its path, the request delegate that serves it over gRPC, and its interceptor
/// pipeline ending in the handler (which JSON transcoding runs with its own call context).
/// </summary>
internal sealed record BoundMethod(MethodDescriptor Method, string Path, RequestDelegate Handler, ServerCallContinuation Pipeline);

/// <summary>
/// Binds the methods of a protobuf <see cref="ServiceDescriptor"/> to the public instance methods
/// of a handler class with the same names (the C# method name is the proto method name, so no
/// method name is ever typed as a string). Binding fails at startup, naming the method, when a
/// method has no handler, a handler has the wrong shape or message types, or a handler matches
/// no method.
/// </summary>
internal static class ServiceBinder
{
    public static IReadOnlyList<BoundMethod> Bind<THandler>(ServiceDescriptor service, IServiceProvider services, GrpcServerOptions options)
        where THandler : class
    {
        ArgumentNullException.ThrowIfNull(service);
        var errors = new List<string>();
        var candidates = typeof(THandler)
            .GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.DeclaringType != typeof(object))
            .GroupBy(m => m.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("ControlPlane.Grpc.Server");
        var pipeline = BuildInterceptors(services, options);
        var activator = new HandlerActivator<THandler>(services);
        var bound = new List<BoundMethod>();
        foreach (var method in service.Methods)
        {
            if (!candidates.Remove(method.Name, out var overloads))
            {
                errors.Add($"'{method.FullName}' has no handler: add a public method '{method.Name}' to {typeof(THandler).Name}.");
                continue;
            }
            if (overloads.Count > 1)
            {
                errors.Add($"'{method.FullName}' has {overloads.Count} overloads in {typeof(THandler).Name}; keep exactly one.");
                continue;
            }
            var requestType = method.InputType.ClrType;
            var responseType = method.OutputType.ClrType;
            if (requestType is null || responseType is null)
            {
                errors.Add($"'{method.FullName}' uses message types without generated C# classes.");
                continue;
            }
            var binder = typeof(MethodBinder<,,>).MakeGenericType(typeof(THandler), requestType, responseType);
            var bind = binder.GetMethod(nameof(MethodBinder<object, Google.Protobuf.WellKnownTypes.Empty, Google.Protobuf.WellKnownTypes.Empty>.Bind), BindingFlags.Public | BindingFlags.Static)!;
            try
            {
                bound.Add((BoundMethod)bind.Invoke(null, [method, overloads[0], activator, pipeline, options, logger])!);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is BindingException bindingError)
            {
                errors.Add(bindingError.Message);
            }
        }
        foreach (var extra in candidates.Values.SelectMany(m => m).Where(IsHandlerShaped))
        {
            errors.Add($"{typeof(THandler).Name}.{extra.Name} looks like a handler but '{service.FullName}' has no method '{extra.Name}'.");
        }
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Cannot bind gRPC service '{service.FullName}' to {typeof(THandler).FullName}:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors));
        }
        return bound;
    }

    private static bool IsHandlerShaped(MethodInfo m) =>
        m.GetParameters().LastOrDefault()?.ParameterType == typeof(ServerCallContext);

    private static IServerInterceptor[] BuildInterceptors(IServiceProvider services, GrpcServerOptions options) =>
        options.Interceptors
            .Select(t => (IServerInterceptor)(services.GetService(t) ?? ActivatorUtilities.CreateInstance(services, t)))
            .ToArray();
}

internal sealed class BindingException(string message) : Exception(message);

/// <summary>Creates the handler for a call: from DI when registered, else with its constructor's dependencies.</summary>
internal sealed class HandlerActivator<THandler>
    where THandler : class
{
    private readonly bool _registered;
    private readonly ObjectFactory _factory;
    private readonly IServiceProvider? _rootServices;

    public HandlerActivator(IServiceProvider services)
    {
        _registered = services.GetService<IServiceProviderIsService>()?.IsService(typeof(THandler)) ?? false;
        _factory = ActivatorUtilities.CreateFactory(typeof(THandler), Type.EmptyTypes);
        // A handler whose only constructor takes nothing needs nothing from DI: creating it must
        // not cost the call a request service scope (HttpContext.RequestServices creates one).
        var constructors = typeof(THandler).GetConstructors();
        if (!_registered && constructors.Length == 1 && constructors[0].GetParameters().Length == 0)
        {
            _rootServices = services;
        }
    }

    public THandler Create(HttpContext http, out bool owned)
    {
        owned = !_registered;
        if (_registered)
        {
            return http.RequestServices.GetRequiredService<THandler>();
        }
        return (THandler)_factory(_rootServices ?? http.RequestServices, null);
    }
}
