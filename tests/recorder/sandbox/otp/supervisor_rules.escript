#!/usr/bin/env escript
%% OTP 25 reference for the sandbox's Supervisor rules (tests/recorder/sandbox/test_otp_supervisor.py
%% runs the same scenarios in the sandbox and compares). `escript supervisor_rules.escript`
%% prints "scenario.key = python literal" lines.
-mode(compile).
-compile([export_all, nowarn_export_all]).
-include("show.hrl").

main(_) ->
    logger:set_primary_config(level, none),  % the crash reports are expected: keep stdout clean
    start_log(),
    lists:foreach(fun run/1, [
        children_start_one_at_a_time_in_order,
        boot_failure_stops_the_started_children,
        start_child_failure_leaves_the_supervisor_up,
        one_for_all_restart_order,
        rest_for_one_restart_order,
        start_child_with_a_present_id,
        start_child_with_a_taken_name,
        malformed_child_spec_is_an_error_reply,
        count_children,
        default_shutdown,
        simple_one_for_one
    ]).

run(Name) ->
    Self = self(),
    put(scenario, Name),
    quiet(),
    {Pid, Ref} = spawn_monitor(fun() -> put(scenario, Name), ?MODULE:Name(), Self ! done end),
    receive
        done -> erlang:demonitor(Ref, [flush]);
        {'DOWN', Ref, process, Pid, Why} -> o("crashed", Why)
    end.

o(Key, Term) -> out(atom_to_list(get(scenario)) ++ "." ++ Key, Term).

%% The supervisor of the scenario before shuts its children down after that scenario's process
%% has exited (they are linked), and they log it: those entries belong to no scenario, and on a
%% loaded machine they landed in the next one's log. Wait until nothing is logged for 50 ms.
quiet() ->
    timer:sleep(50),
    case dump() of
        [] -> ok;
        _ -> quiet()
    end.

%% start_child's error when the child does not start: {error, {Reason, Child}}, where Child is
%% the supervisor's own record of the spec (its shape is internal; say only that it is there).
with_child({error, {Reason, Child}}) when element(1, Child) =:= child -> {error, Reason, child};
with_child(Other) -> Other.

spec(Id, Beh) -> #{id => Id, start => {?MODULE, start_srv, [Id, Beh]}}.

sup(Strategy, Specs) ->
    supervisor:start_link(?MODULE, {sup, #{strategy => Strategy, intensity => 10}, Specs}).

%% ---------------------------------------------------------------- the scenarios

children_start_one_at_a_time_in_order() ->
    {ok, _} = sup(one_for_one, [spec(a, ok), spec(b, ok), spec(c, ok)]),
    o("log", dump()).

boot_failure_stops_the_started_children() ->
    process_flag(trap_exit, true),
    Result = sup(one_for_one,
                 [spec(a, trap), spec(b, trap), spec(c, {stop, cfail}), spec(d, trap)]),
    o("result", Result),
    o("log", dump()),
    o("then_exit", receive {'EXIT', _, R} -> R after 200 -> none end).

start_child_failure_leaves_the_supervisor_up() ->
    {ok, Sup} = sup(one_for_one, []),
    o("stop", with_child(supervisor:start_child(Sup, spec(x, {stop, nope})))),
    o("exit", with_child(supervisor:start_child(Sup, spec(y, {exit, boom})))),
    o("alive", is_process_alive(Sup)),
    o("children", supervisor:which_children(Sup)).

restart_order(Strategy) ->
    {ok, Sup} = sup(Strategy, [spec(I, trap) || I <- [a, b, c, d]]),
    dump(),
    {_, B, _, _} = lists:keyfind(b, 1, supervisor:which_children(Sup)),
    gen_server:cast(B, crash),
    timer:sleep(100),
    o("log", dump()).

one_for_all_restart_order() -> restart_order(one_for_all).

rest_for_one_restart_order() -> restart_order(rest_for_one).

start_child_with_a_present_id() ->
    {ok, Sup} = sup(one_for_one, [spec(a, ok)]),
    o("running", supervisor:start_child(Sup, spec(a, ok))),
    o("terminate", supervisor:terminate_child(Sup, a)),
    o("stopped", supervisor:start_child(Sup, spec(a, ok))),
    o("delete_running", begin {ok, _} = supervisor:restart_child(Sup, a),
                               supervisor:delete_child(Sup, a) end),
    supervisor:terminate_child(Sup, a),
    o("delete", supervisor:delete_child(Sup, a)),
    o("restart_deleted", supervisor:restart_child(Sup, a)).

start_child_with_a_taken_name() ->
    {ok, Sup} = sup(one_for_one, []),
    Holder = spawn(fun() -> receive stop -> ok end end),
    register(taken, Holder),
    Before = length(processes()),
    Named = #{id => n, start => {?MODULE, start_named, [taken, n, ok]}},
    o("result", with_child(supervisor:start_child(Sup, Named))),
    settle(),
    o("processes_made", length(processes()) - Before),
    o("alive", is_process_alive(Sup)),
    o("specs", proplists:get_value(specs, supervisor:count_children(Sup))),
    Holder ! stop.

malformed_child_spec_is_an_error_reply() ->
    {ok, Sup} = sup(one_for_one, []),
    Start = {?MODULE, start_srv, [x, ok]},
    o("restart", supervisor:start_child(Sup, #{id => x, start => Start, restart => sometimes})),
    o("shutdown", supervisor:start_child(Sup, #{id => x, start => Start, shutdown => -1})),
    o("type", supervisor:start_child(Sup, #{id => x, start => Start, type => robot})),
    o("no_start", supervisor:start_child(Sup, #{id => x})),
    o("alive", is_process_alive(Sup)).

count_children() ->
    Inner = #{id => inner, start => {?MODULE, start_sup, [one_for_one, []]},
              type => supervisor},
    {ok, Sup} = sup(one_for_one, [spec(a, ok), Inner, spec(c, ok)]),
    ok = supervisor:terminate_child(Sup, c),
    o("counts", maps:from_list(supervisor:count_children(Sup))).

default_shutdown() ->
    Inner = #{id => inner, start => {?MODULE, start_sup, [one_for_one, []]},
              type => supervisor},
    {ok, Sup} = sup(one_for_one, [spec(a, ok), Inner]),
    {ok, #{shutdown := Worker}} = supervisor:get_childspec(Sup, a),
    {ok, #{shutdown := Supervisor}} = supervisor:get_childspec(Sup, inner),
    o("worker", Worker),
    o("supervisor", Supervisor).

simple_one_for_one() ->
    Template = #{id => dyn, start => {?MODULE, start_dyn, [base]}},
    {ok, Sup} = sup(simple_one_for_one, [Template]),
    {ok, P1} = supervisor:start_child(Sup, [1]),
    {ok, P2} = supervisor:start_child(Sup, [2]),
    o("which", [{Id, Type} || {Id, _, Type, _} <- supervisor:which_children(Sup)]),
    o("counts", maps:from_list(supervisor:count_children(Sup))),
    o("terminate", supervisor:terminate_child(Sup, P1)),
    o("terminate_again", supervisor:terminate_child(Sup, P1)),
    o("terminate_not_a_child", supervisor:terminate_child(Sup, self())),
    o("terminate_by_id", supervisor:terminate_child(Sup, dyn)),
    o("delete", supervisor:delete_child(Sup, dyn)),
    o("restart", supervisor:restart_child(Sup, dyn)),
    gen_server:cast(P2, crash),
    timer:sleep(100),
    [{_, P3, _, _}] = supervisor:which_children(Sup),
    o("restarted_as_new_pid", P3 =/= P2),
    o("log", dump()).

%% ---------------------------------------------------------------- children

start_srv(Id, Beh) -> gen_server:start_link(?MODULE, {srv, Id, Beh}, []).

start_named(Name, Id, Beh) -> gen_server:start_link({local, Name}, ?MODULE, {srv, Id, Beh}, []).

start_sup(Strategy, Specs) -> sup(Strategy, Specs).

start_dyn(Base, X) -> gen_server:start_link(?MODULE, {srv, {Base, X}, trap}, []).

init({sup, Flags, Specs}) -> {ok, {Flags, Specs}};
init({srv, Id, Beh}) ->
    case Beh of
        {stop, Reason} -> {stop, Reason};
        {exit, Reason} -> exit(Reason);
        trap -> process_flag(trap_exit, true), note({started, Id}), {ok, Id};
        ok -> note({started, Id}), {ok, Id}
    end.

handle_call(_, _From, Id) -> {reply, Id, Id}.

handle_cast(crash, _Id) -> exit(boom).

handle_info(_, Id) -> {noreply, Id}.

terminate(Reason, Id) -> note({terminated, Id, Reason}).
